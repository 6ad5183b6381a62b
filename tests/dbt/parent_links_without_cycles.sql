{{ config(severity='warn') }}
-- Parent links on a cycle of the Multi-Generation Register (A a parent of B, B a parent of A, or
-- longer): int_parent_links_acyclic leaves them out of family_relation; the build warns with
-- their number. One row per link on a cycle.
select u.child_id, u.parent_id, u.parent_role
from {{ ref('int_parent_links_unpivoted') }} as u
where not exists (
    select 1
    from {{ ref('int_parent_links_acyclic') }} as a
    where a.child_id = u.child_id and a.parent_role = u.parent_role
)
