-- One row per death record with the one date every model uses for it, for events and for the
-- end of follow-up alike. DODSDAT may be partial (19870500, 19870000): the date is then the
-- midpoint of the days it allows, lower + (upper - lower) // 2, after raising the lower bound
-- to the person's birth and to their last record of being alive that the interval still
-- allows (an inpatient admission or discharge, outpatient visit, dispensing, tumour diagnosis,
-- migration or biobank sample). So 20200000 for a child born 2020-05-07 is 2020-09-03, and
-- 20180000 after a discharge on 2018-09-10 is 2018-11-05. An exact date stays as written.
with deaths as (
    select * from {{ ref('stg_dors__deaths') }}
),

alive_days as (
    select person_id, discharge_date as day from {{ ref('stg_npr__inpatient_records') }}
    union all
    select person_id, admission_date from {{ ref('stg_npr__inpatient_records') }}
    union all
    select person_id, visit_date from {{ ref('stg_npr__outpatient_records') }}
    union all
    select person_id, dispense_date from {{ ref('stg_lmed__dispensings') }}
    union all
    select person_id, diagnosis_date_lower from {{ ref('stg_cancer__tumours') }}
    union all
    select person_id, migration_date from {{ ref('stg_rtb__migrations') }}
    union all
    select person_id, sampling_date from {{ ref('stg_biobank__samples') }}
),

last_alive as (
    select d.record_id, max(a.day) as last_alive
    from deaths as d
    join alive_days as a on a.person_id = d.person_id and a.day <= d.death_date_upper
    where d.death_date_lower < d.death_date_upper
    group by d.record_id
),

bounded as (
    select
        d.*,
        greatest(d.death_date_lower, coalesce(d.birth_date, d.death_date_lower),
                 coalesce(l.last_alive, d.death_date_lower)) as earliest
    from deaths as d
    left join last_alive as l using (record_id)
)

select
    * exclude (earliest),
    earliest + cast((greatest(death_date_upper, earliest) - earliest) // 2 as integer) as death_date
from bounded
