select
    p.person_id,
    p.sex,
    p.birth_date,
    p.is_coordination_number,
    p.country_of_birth,
    p.county_of_birth,
    p.is_reused_number,
    p.in_population_register,
    d.death_date,
    d.death_date_lower,
    d.death_date_upper,
    d.death_date_precision,
    {{ normalise_code('d.underlying_cause') }} as underlying_cause
from {{ ref('int_persons_deduplicated') }} as p
left join {{ ref('int_deaths_first') }} as d using (person_id)
