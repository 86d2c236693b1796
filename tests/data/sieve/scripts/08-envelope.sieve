# args: -f owner-dev@lists.example.net -r bob+dev@example.org
# envelope (RFC 5228 5.4) with subaddress (RFC 5233)
require ["envelope", "subaddress", "fileinto", "variables"];
if envelope :domain :is "from" "lists.example.net" { fileinto "lists"; }
if envelope :detail "to" "dev" { fileinto "detail-dev"; }
if envelope :user :matches "to" "*" { fileinto "user-${1}"; }
if envelope :localpart :contains "from" "owner" { keep; }
