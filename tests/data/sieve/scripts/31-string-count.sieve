# string :count counts non-empty strings (RFC 5229 5)
require ["variables", "relational", "comparator-i;ascii-numeric", "fileinto"];
set "a" "x";
if string :count "eq" :comparator "i;ascii-numeric" ["${a}", "", "y"] "2" { fileinto "count2"; }
