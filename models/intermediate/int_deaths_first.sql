-- One row per deceased person: the earliest death record (a register can hold duplicates),
-- dated by int_deaths_dated.
select * exclude (row_rank)
from (
    select
        *,
        row_number() over (partition by person_id order by death_date, record_id) as row_rank
    from {{ ref('int_deaths_dated') }}
)
where row_rank = 1
