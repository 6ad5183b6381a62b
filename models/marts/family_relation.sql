-- One row per pair of related persons in the cohort (both in person), from the Multi-Generation
-- Register's parent links (cycles left out, int_parent_links_acyclic): parent and offspring,
-- siblings by the biological parents they share, adoptive parent and offspring. A pair that
-- qualifies twice keeps the closest relation (biological before adoptive). Siblings are linked
-- through their parents even when the parents themselves are not in the cohort.
with links as (
    select * from {{ ref('int_parent_links_acyclic') }}
),

parents as (
    select
        child_id,
        max(case when parent_role = 'mother' then parent_id end) as mother_id,
        max(case when parent_role = 'father' then parent_id end) as father_id
    from links
    where is_biological
    group by child_id
),

parent_offspring as (
    select
        parent_id as person_id_1,
        child_id as person_id_2,
        case when is_biological then 'parent_offspring' else 'adoptive_parent_offspring' end as relation,
        parent_role,
        cast(null as varchar) as shared_parent,
        case when is_biological then 1 else 4 end as priority
    from links
),

-- pairs of children with a common mother or a common father (each pair once per parent side)
sibling_pairs as (
    select a.child_id as person_id_1, b.child_id as person_id_2
    from parents as a
    inner join parents as b on a.mother_id = b.mother_id and a.child_id < b.child_id
    union
    select a.child_id, b.child_id
    from parents as a
    inner join parents as b on a.father_id = b.father_id and a.child_id < b.child_id
),

siblings as (
    select
        s.person_id_1,
        s.person_id_2,
        case
            when same_mother and same_father then 'full_siblings'
            when same_mother and fathers_known then 'maternal_half_siblings'
            when same_father and mothers_known then 'paternal_half_siblings'
            when same_mother then 'maternal_siblings'
            else 'paternal_siblings'
        end as relation,
        cast(null as varchar) as parent_role,
        case
            when same_mother and same_father then 'both'
            when same_mother then 'mother'
            else 'father'
        end as shared_parent,
        case when same_mother and same_father then 2 else 3 end as priority
    from (
        select
            s.*,
            coalesce(a.mother_id = b.mother_id, false) as same_mother,
            coalesce(a.father_id = b.father_id, false) as same_father,
            a.father_id is not null and b.father_id is not null as fathers_known,
            a.mother_id is not null and b.mother_id is not null as mothers_known
        from sibling_pairs as s
        inner join parents as a on a.child_id = s.person_id_1
        inner join parents as b on b.child_id = s.person_id_2
    ) as s
),

candidates as (
    select * from parent_offspring
    union all
    select * from siblings
),

in_cohort as (
    select c.*
    from candidates as c
    where c.person_id_1 in (select person_id from {{ ref('person') }})
      and c.person_id_2 in (select person_id from {{ ref('person') }})
),

ranked as (
    select
        *,
        least(person_id_1, person_id_2) || ':' || greatest(person_id_1, person_id_2) as pair_id,
        row_number() over (
            partition by least(person_id_1, person_id_2), greatest(person_id_1, person_id_2)
            order by priority, relation
        ) as pair_rank
    from in_cohort
)

select
    pair_id,
    person_id_1,
    person_id_2,
    relation,
    parent_role,
    shared_parent,
    cast(case
        when relation in ('parent_offspring', 'full_siblings') then 1
        when relation in ('maternal_half_siblings', 'paternal_half_siblings') then 2
    end as integer) as degree,
    cast(case
        when relation in ('parent_offspring', 'full_siblings') then 0.25
        when relation in ('maternal_half_siblings', 'paternal_half_siblings') then 0.125
    end as double) as expected_kinship
from ranked
where pair_rank = 1
