# body :text on HTML (tags and styles dropped), :content with a subtype, :raw of QP
require ["body", "fileinto"];
if body :text :contains "Sieve filters" { fileinto "text-html"; }
if body :text :contains "color: red" { fileinto "never-style"; }
if body :content "text/html" :contains "<b>Sieve</b>" { fileinto "html-tags"; }
if body :raw :contains "=\n" { fileinto "never-softbreak"; }
if body :text :matches "*fire*" { fileinto "fire"; }
if body :content "text/plain" :is "Printer is on fire.\n" { fileinto "exact-body"; }
