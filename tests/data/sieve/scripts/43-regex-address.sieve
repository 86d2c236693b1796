# regex on address parts and with i;octet; a group that does not take part is empty
require ["regex", "variables", "fileinto"];
if address :regex :localpart "from" "^([a-z]+)[.-]?([a-z]*)$" { fileinto "lp-${1}-${2}"; }
if address :regex :comparator "i;octet" :domain "from" "[A-Z]" { fileinto "upper-domain"; }
if header :regex "subject" "#([0-9]+)|(none)" { fileinto "ticket-${1}-${2}"; }
