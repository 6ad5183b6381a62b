{{ config(severity='warn') }}
-- People with no residence spell: in neither the population nor the migration register (known
-- only from, say, a dispensing or a hospital stay). They add no person-time to any rate; the
-- build warns with their count so that a large number (an incomplete population extract) is
-- seen. One row per such person.
select p.person_id
from {{ ref('person') }} as p
where not exists (select 1 from {{ ref('observation_period') }} as o where o.person_id = p.person_id)
