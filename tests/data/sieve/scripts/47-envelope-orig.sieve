# args: -f list-owner@lists.example.net -r bob+box@example.org -a bob+orig@example.org
# envelope "to" is the original recipient when given (as Pigeonhole)
require ["envelope", "subaddress", "fileinto", "variables"];
if envelope :detail :matches "to" "*" { fileinto "detail-${1}"; }
if envelope :all :is "from" "list-owner@lists.example.net" { fileinto "from-owner"; }
