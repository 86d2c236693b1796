# :matches with ? * and escapes; match variables
require ["fileinto", "variables"];
if header :matches "subject" "*[*]*" { fileinto "bracket/${2}"; stop; }
if header :matches "subject" "Meeting on ?uesday" { fileinto "q-${1}"; }
if header :matches "from" "*<*@*>" { fileinto "from-${2}-${3}"; }
if header :matches "subject" "\\*" { fileinto "literal-star"; }
if header :matches "date" "*, * * 20?? *" { fileinto "year-${4}"; }
