-- One row per deceased person: the earliest death record (a register can hold duplicates).
select * exclude (row_rank)
from (
    select
        *,
        row_number() over (partition by person_id order by death_date_lower, record_id) as row_rank
    from {{ ref('stg_dors__deaths') }}
)
where row_rank = 1
