-- One row per index person and parent the Multi-Generation Register names (mother, father,
-- adoptive mother, adoptive father), from the index person's latest register row (the same rule
-- as the population register: highest load, then line), so a later delivery that corrects a
-- parent replaces the earlier one instead of adding a second.
with latest as (
    select * exclude (row_rank)
    from (
        select
            *,
            row_number() over (partition by person_id order by load_id desc, source_line desc) as row_rank
        from {{ ref('stg_multigen__index_persons') }}
    )
    where row_rank = 1
),

links as (
    {% for role in ['mother', 'father', 'adoptive_mother', 'adoptive_father'] %}
    select
        person_id as child_id,
        birth_date as child_birth_date,
        {{ role }}_id as parent_id,
        {{ role }}_birth_date as parent_birth_date,
        '{{ role }}' as parent_role,
        {{ 'true' if role in ['mother', 'father'] else 'false' }} as is_biological
    from latest
    where {{ role }}_id is not null
    {{ "union all" if not loop.last }}
    {% endfor %}
)

select * from links
