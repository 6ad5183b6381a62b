-- After netting, every dispensing has a positive number of packages, or an unknown one (an
-- empty ANTAL).
select dispensing_id from {{ ref('drug_dispensing') }} where packages <= 0
