# regex (draft-ietf-sieve-regex): match variables, comparators, :quoteregex
require ["regex", "variables", "fileinto"];
if header :regex "subject" "^\\[([a-z]+)\\] (.*)$" { fileinto "list-${1}"; }
if header :regex :comparator "i;octet" "subject" "meeting" { fileinto "octet-lower"; }
if header :regex "subject" "MEETING" { fileinto "casemap"; }
if address :regex :domain "from" "^(.+)\\.(com|net)$" { fileinto "tld-${2}"; }
if header :regex "x-spam-status" "score=([0-9]+)\\." { fileinto "score-${1}"; }
