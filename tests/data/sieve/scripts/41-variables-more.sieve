# more variables: out-of-range match variables, set with expansion, :length of UTF-8
require ["variables", "fileinto", "encoded-character"];
set "x" "${hex:c3 a4}bc";
set :length "l" "${x}";
set :upperfirst :lower "cap" "hELLO wORLD";
if header :matches "subject" "*" { set "s" "${1}"; }
set "s2" "${s}${9}";
fileinto "l=${l}";
fileinto "${cap}";
if string :is "${s2}" "${s}" { fileinto "out-of-range-empty"; }
