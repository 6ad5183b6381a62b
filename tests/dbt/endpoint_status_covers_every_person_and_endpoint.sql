-- endpoint_status is the full grid: persons x endpoints, each pair once.
select 'rows' as what, (select count(*) from {{ ref('endpoint_status') }}) as found,
       (select count(*) from {{ ref('person') }}) * (select count(*) from {{ ref('endpoint_definition') }}) as expected
where found <> expected
