-- One row per parent link that is not on a cycle. A cycle (A a parent of B, B a parent of A,
-- or longer) cannot be true; ingestion rejects any single row whose parent is born after the
-- child, so a cycle that reaches here runs through people born on the same day (or through rows
-- of different deliveries). Every link of a cycle is left out, since the register cannot say
-- which one is wrong; tests/dbt/parent_links_without_cycles.sql warns with their number.
with recursive links as (
    select child_id, parent_id from {{ ref('int_parent_links_unpivoted') }}
),

-- every (person, ancestor) pair reachable through parent links; UNION (not UNION ALL) stops
-- when no new pair appears, cycles included
ancestors(person_id, ancestor_id) as (
    select child_id, parent_id from links
    union
    select a.person_id, l.parent_id
    from ancestors as a
    inner join links as l on l.child_id = a.ancestor_id
)

select u.*
from {{ ref('int_parent_links_unpivoted') }} as u
where not exists (
    select 1 from ancestors as a where a.person_id = u.parent_id and a.ancestor_id = u.child_id
)
