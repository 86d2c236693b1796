# address parsing: groups, quoted local parts, comments, case of domains
require ["fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
if address :localpart :is "from" "john.doe" { fileinto "quoted-local"; }
if address :domain :is "from" "example.com" { fileinto "from-domain"; }
if address :count "eq" :comparator "i;ascii-numeric" "to" "3" { fileinto "three-to"; }
if address :all :matches "cc" "*" { fileinto "cc-${1}"; }
if address :is "to" "xy@example.org" { fileinto "in-group"; }
if address :localpart :matches "to" "*+*" { fileinto "plus-${2}"; }
