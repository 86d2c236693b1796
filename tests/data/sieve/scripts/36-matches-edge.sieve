# :matches corner cases: **, ?*, empty values, leading zeros in match variables
require ["variables", "fileinto"];
if header :matches "subject" "**" { set "a" "${1}|${2}"; }
if header :matches "subject" "?*" { set "b" "${1}"; }
if header :matches "subject" "*#*" { set "c" "${02}"; }
if header :matches "x-count" "1?" { fileinto "count-1x-${1}"; }
if header :matches "message-id" "<*@*>" { fileinto "mid-${2}-${1}"; }
fileinto "a=${a};b=${b};c=${c}";
