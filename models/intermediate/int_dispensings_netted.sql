-- One row per dispensing after corrections: a negative ANTAL row cancels (part of) the most
-- recent earlier-or-same-day dispensing of the same person, ATC code and package (VNR) whose
-- quantity is known; what is left is netted into that dispensing, and dispensings netted to
-- zero or below disappear. A dispensing with an empty ANTAL happened all the same: it is kept,
-- counts as a dispensing, and its quantity (packages, DDD) stays unknown (NULL).
-- Corrections are rare, so only the (person, ATC, package) series that hold one are ordered.
with dispensings as (
    select *, coalesce(packages < 0, false) as is_correction, coalesce(product_number, '') as package_key
    from {{ ref('stg_lmed__dispensings') }}
    where packages is null or packages <> 0
),

corrected_series as (
    select distinct person_id, atc, package_key
    from dispensings
    where is_correction
),

assigned as (
    select
        d.*,
        last_value(case when not d.is_correction and d.packages is not null then d.record_id end ignore nulls) over (
            partition by d.person_id, d.atc, d.package_key
            order by d.dispense_date, d.is_correction, d.record_id
            rows between unbounded preceding and current row
        ) as cancels_record_id
    from dispensings as d
    semi join corrected_series as c using (person_id, atc, package_key)
),

corrections as (
    select cancels_record_id as record_id, sum(packages) as corrected_packages,
           count(*) as n_corrections
    from assigned
    where is_correction and cancels_record_id is not null
    group by cancels_record_id
)

select
    d.record_id as dispensing_id,
    d.person_id,
    d.birth_date,
    d.atc,
    d.prescription_date,
    d.dispense_date,
    d.product_number,
    d.packages as packages_dispensed,
    d.packages + coalesce(c.corrected_packages, 0) as packages,
    coalesce(c.n_corrections, 0) as n_corrections,
    d.ddd_per_package
from dispensings as d
left join corrections as c using (record_id)
where not d.is_correction
  and (d.packages is null or d.packages + coalesce(c.corrected_packages, 0) > 0)
