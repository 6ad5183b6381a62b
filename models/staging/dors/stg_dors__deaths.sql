select
    'dors:' || _load_id || ':' || _source_line as record_id,
    person_id,
    birth_date,
    sex,
    death_date_lower,
    death_date_upper,
    death_date_precision,
    icd_version,
    underlying_cause,
    {% for i in range(1, 18) %}contributing_cause_{{ i }}{{ "," if not loop.last }}
    {% endfor %}
from {{ raw_source('dors') }}
where death_date_lower is not null
