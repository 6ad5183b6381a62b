-- One row per endpoint and every endpoint whose events it takes (itself and, through INCLUDE,
-- recursively the endpoints it includes). UNION's set semantics stop cycles.
with recursive edges as (
    select name as parent, unnest(include_list) as child
    from {{ ref('int_endpoint_definitions_parsed') }}
),

closure(endpoint, member) as (
    select name, name from {{ ref('int_endpoint_definitions_parsed') }}
    union
    select c.endpoint, e.child
    from closure as c
    join edges as e on e.parent = c.member
)

select endpoint, member from closure
