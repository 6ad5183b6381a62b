-- One row per residence spell. Residence comes from the population and migration registers
-- only (RTB): a person in neither (known only from, say, one dispensing) has no spell and adds
-- no person-time; the build reports how many (tests/dbt/persons_without_residence.sql). A
-- person is resident from birth unless their first recorded migration is an immigration (then
-- from that date); each emigration ends a spell and each later immigration opens one; the
-- last spell ends at death (int_deaths_dated, partial dates at their midpoint) or at
-- var('data_end'). Repeated moves in the same direction (a register quirk) are ignored after
-- the first.
with registered as (
    select person_id from {{ ref('stg_rtb__persons') }}
    union
    select person_id from {{ ref('stg_rtb__migrations') }}
),

people as (
    select p.person_id, p.birth_date,
           least(coalesce(d.death_date, date '{{ var("data_end") }}'),
                 date '{{ var("data_end") }}') as end_of_data
    from {{ ref('int_persons_deduplicated') }} as p
    semi join registered as r using (person_id)
    left join {{ ref('int_deaths_first') }} as d using (person_id)
    where p.birth_date is not null
),

moves as (
    select m.person_id, m.migration_date as move_date, m.migration_type as move_type,
           m.record_id
    from {{ ref('stg_rtb__migrations') }} as m
    join people as p using (person_id)
    where m.migration_type in ('in', 'out')
      and m.migration_date >= p.birth_date
      and m.migration_date <= p.end_of_data
),

first_moves as (
    select person_id, arg_min(move_type, move_date) as first_move_type
    from moves
    group by person_id
),

births as (
    select p.person_id, p.birth_date as move_date, 'in' as move_type, '' as record_id
    from people as p
    left join first_moves as f using (person_id)
    where coalesce(f.first_move_type, 'out') = 'out'
),

events as (
    select * from births
    union all
    select * from moves
),

changes as (
    select *
    from (
        select *, lag(move_type) over (
            partition by person_id order by move_date, record_id) as previous_type
        from events
    )
    where previous_type is null or previous_type <> move_type
),

paired as (
    select
        person_id, move_type, move_date as spell_start,
        lead(move_date) over (partition by person_id order by move_date, record_id) as next_move
    from changes
)

select
    s.person_id || ':' || row_number() over (partition by s.person_id order by s.spell_start) as observation_period_id,
    s.person_id,
    s.spell_start as start_date,
    least(coalesce(s.next_move, p.end_of_data), p.end_of_data) as end_date,
    case when s.spell_start = p.birth_date then 'birth' else 'immigration' end as start_reason,
    case
        when s.next_move is not null and s.next_move <= p.end_of_data then 'emigration'
        when p.end_of_data < date '{{ var("data_end") }}' then 'death'
        else 'end_of_data'
    end as end_reason
from paired as s
join people as p using (person_id)
where s.move_type = 'in'
  and s.spell_start <= p.end_of_data
