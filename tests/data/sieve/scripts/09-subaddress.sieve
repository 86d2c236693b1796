# subaddress on headers: :user/:detail, no detail, empty detail
require ["subaddress", "fileinto", "variables"];
if address :detail :matches "to" "*" { fileinto "detail-${1}"; }
if address :user :is "to" "carol" { fileinto "carol-user"; }
if address :detail :is "reply-to" "reply" { fileinto "reply-detail"; }
if not address :detail :matches "from" "*" { fileinto "no-detail"; }
