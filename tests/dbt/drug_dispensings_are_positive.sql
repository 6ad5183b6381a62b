-- After netting, every dispensing has a positive number of packages.
select dispensing_id from {{ ref('drug_dispensing') }} where packages <= 0
