# :count over several headers, :index with :last, numeric values
require ["relational", "comparator-i;ascii-numeric", "index", "fileinto", "variables"];
if header :count "ge" :comparator "i;ascii-numeric" ["x-count", "subject"] "3" { fileinto "count3"; }
if header :index 1 :last :value "gt" :comparator "i;ascii-numeric" "x-count" "10" { fileinto "last-big"; }
if header :index 1 :value "lt" :comparator "i;ascii-numeric" "x-count" "10" { fileinto "first-small"; }
if header :index 2 :matches "to" "*" { fileinto "never"; }
