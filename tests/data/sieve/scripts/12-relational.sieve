# relational (RFC 5231) and comparator-i;ascii-numeric
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "10" { fileinto "spam-high"; }
elsif header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "5" { fileinto "spam-mid"; }
if header :value "lt" :comparator "i;ascii-numeric" "x-spam-score" "3" { fileinto "spam-low"; }
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "many-rcpts"; }
if header :count "eq" :comparator "i;ascii-numeric" "subject" "2" { fileinto "two-subjects"; }
if header :value "gt" "subject" "M" { fileinto "subject-after-m"; }
if header :value "ne" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "prio-not-3"; }
if header :count "lt" :comparator "i;ascii-numeric" "x-nothing" "1" { fileinto "count-zero"; }
