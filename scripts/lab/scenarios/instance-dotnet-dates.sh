# desc: the instance's NetworkStatus rows were refreshed at staggered times up to 24 minutes ago; some carry a date without a zone, the zero date or none (.NET DateTimes)
# expect: instance.stale pass (no row missed its refresh; the undated rows are counted); verdict ready; exit 0
arm_knobs '{"instance_dotnet_dates": true}'
