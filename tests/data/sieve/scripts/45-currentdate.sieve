# currentdate: only facts true for any run after 2025
require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2025" { fileinto "now-after-2025"; }
if currentdate :zone "+0000" :matches "zone" "+0000" { fileinto "utc-zone"; }
