# i;ascii-numeric: leading digits, non-numbers are infinity (RFC 4790 9.1)
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :comparator "i;ascii-numeric" :is "x-spam-score" "007" { fileinto "seven"; }
if header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { fileinto "subject-infinite"; }
