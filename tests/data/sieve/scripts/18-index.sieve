# index (RFC 5260 6): :index and :last on header, address, date
require ["index", "date", "fileinto", "variables"];
if header :index 2 :matches "subject" "*" { fileinto "second-${1}"; }
if header :index 1 :last :matches "subject" "*" { fileinto "last-${1}"; }
if address :index 1 :domain :matches "to" "*" { fileinto "to1-${1}"; }
if date :index 1 :zone "+0000" "date" "year" ["2024", "2025"] { fileinto "dated"; }
if header :index 5 :matches "subject" "*" { fileinto "never"; }
