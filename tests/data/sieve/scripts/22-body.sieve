# body (RFC 5173): :raw, :content, :text, match types
require ["body", "fileinto"];
if body :raw :contains "MAKE MONEY FAST" { fileinto "raw-money"; }
if body :content "text/plain" :contains "Kaffee" { fileinto "plain-kaffee"; }
if body :content "text" :contains "Schöne" { fileinto "text-decoded"; }
if body :content "multipart" :contains "MIME format" { fileinto "prologue"; }
if body :content "message/rfc822" :contains "hello request" { fileinto "nested-header"; }
if body :content "text/plain" :contains "Please say Hello" { fileinto "nested-body"; }
if body :text :contains "Kaffee" { fileinto "text-kaffee"; }
if body :content "application/pdf" :contains "PDF-1.4" { fileinto "pdf"; }
if body :content "" :contains "Limited offer" { fileinto "any-type"; }
if body :raw :matches "*room 42*" { fileinto "room"; }
if body :contains "released" { fileinto "released"; }
if body :raw :contains "PGh0bWw" { fileinto "raw-base64"; }
