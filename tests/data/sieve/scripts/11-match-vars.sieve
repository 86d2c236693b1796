# match variables: ${0}, non-greedy, stale after a failed match
require ["variables", "fileinto"];
if header :matches "to" "*<*@*>*" { set "first" "${2}"; }
if header :matches "subject" "* on *" { set "what" "${1}"; set "when" "${2}"; set "all" "${0}"; }
if header :matches "subject" "nomatch*" { set "what" "changed"; }
if string :matches "${what}" "M*" { fileinto "w-${what}-${when}-${first}"; }
if header :matches "subject" "*" { if string :is "${0}" "${all}" { fileinto "zero-ok"; } }
