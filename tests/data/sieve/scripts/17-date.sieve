# date (RFC 5260) with :originalzone and :zone
require ["date", "fileinto", "variables", "relational"];
if date :originalzone "date" "year" "2025" { fileinto "y2025"; }
if date :zone "+0000" :matches "date" "date" "*" { fileinto "utc-${1}"; }
if date :zone "-0800" "date" "hour" "00" { fileinto "pst-midnight"; }
if date :originalzone "date" "weekday" "2" { fileinto "tuesday"; }
if date :originalzone :matches "date" "time" "*:*:*" { fileinto "t-${1}${2}${3}"; }
if date :zone "+0530" "date" "zone" "+0530" { fileinto "zone-ok"; }
if date :originalzone :matches "date" "iso8601" "*" { fileinto "iso-${1}"; }
if date :originalzone :matches "date" "std11" "*" { fileinto "std11-${1}"; }
if date :zone "+0000" :matches "date" "julian" "*" { fileinto "mjd-${1}"; }
if date :zone "+0000" :value "ge" "date" "month" "03" { fileinto "spring"; }
if date :matches "received" "year" "*" { fileinto "received-${1}"; }
