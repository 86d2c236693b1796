# variables (RFC 5229): set with modifiers, string test, expansion in keys
require ["variables", "fileinto"];
set "domain" "example";
set :lower "Greeting" "HeLLo";
set :upperfirst "name" "bob";
set :length "len" "abcdef";
set :quotewildcard "pat" "a*b?";
set :lower :upperfirst "mixed" "wORLD";
if string :is "${greeting}" "hello" { fileinto "lower-${name}"; }
if string :is "${len}" "6" { fileinto "len6"; }
if string :is "${pat}" "a\\*b\\?" { fileinto "quoted"; }
if string :is "${mixed}" "World" { fileinto "mixed-ok"; }
if header :contains "from" "${domain}.com" { fileinto "dom-${domain}"; }
if string :is "${undefined}" "" { fileinto "empty-undefined"; }
if string :is "${unknown" "${unknown" { fileinto "not-a-reference"; }
