# long elsif chains, nested ifs, stop inside a nested block
require "fileinto";
if header :contains "from" "mallory" { fileinto "1"; }
elsif header :contains "from" "alice" { if size :over 10 { fileinto "2"; stop; } fileinto "never"; }
elsif header :contains "from" "news" { fileinto "3"; }
elsif exists "list-id" { fileinto "4"; }
else { fileinto "5"; }
fileinto "end";
