-- One row per person_id that was changed into another: the person's latest person_id, found
-- by following the changes to their end (A -> B -> C gives A: C and B: C). Ingestion refuses
-- change tables that fork or cycle; the depth cap only guards against a hand-made warehouse.
with recursive edges as (
    select distinct old_person_id, new_person_id
    from {{ ref('stg_rtb__personnummer_changes') }}
),

walk as (
    select old_person_id as person_id, new_person_id as current_person_id, 1 as depth
    from edges
    union all
    select w.person_id, e.new_person_id, w.depth + 1
    from walk as w
    join edges as e on e.old_person_id = w.current_person_id
    where w.depth < 100
)

select person_id, arg_max(current_person_id, depth) as current_person_id
from walk
group by person_id
