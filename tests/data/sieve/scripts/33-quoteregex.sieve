# the :quoteregex modifier of draft-ietf-sieve-regex (section 5): Pigeonhole lacks it
require ["regex", "variables", "fileinto"];
set :quoteregex "q" "a.b*c";
if string :regex "a.b*c" "^${q}$" { fileinto "quoted-re"; }
if string :regex "aXbbc" "^${q}$" { fileinto "never"; }
