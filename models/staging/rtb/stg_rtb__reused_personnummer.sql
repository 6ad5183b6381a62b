-- One row per holder of a re-used number and period the number was theirs
-- (data-contracts/pnr_reuse.odcs.yaml), however many deliveries repeated it. The first holder
-- keeps the number's person_id; a later holder gets a person_id of their own, 24 hex
-- characters derived from the number's pseudonym and the holder (never from the number).
select distinct
    person_id,
    holder,
    valid_from,
    valid_to,
    case
        when holder = 1 then person_id
        else substr(sha256(person_id || ':holder:' || cast(holder as varchar)), 1, 24)
    end as holder_person_id
from {{ raw_source('pnr_reuse', resolve=false) }}
where valid_to is null or valid_to >= valid_from
