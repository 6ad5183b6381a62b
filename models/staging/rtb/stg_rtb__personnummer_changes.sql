-- One row per change of a person's number (earlier -> later number, both as pseudonyms) and
-- its date, however many deliveries repeated it (data-contracts/pnr_changes.odcs.yaml).
-- Ingestion refused change tables that change a number into two or that form a cycle.
select distinct
    old_person_id,
    new_person_id,
    change_date
from {{ raw_source('pnr_changes', resolve=false) }}
