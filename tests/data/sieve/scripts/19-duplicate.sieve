# duplicate (RFC 7352): with no memory yet nothing is a duplicate; the same ID twice in one
# run is (Pigeonhole and RFC 7352 3: the ID is tracked as soon as it is tested)
require ["duplicate", "fileinto", "variables"];
if duplicate { fileinto "dup"; }
if duplicate :header "subject" :handle "subj" { fileinto "dup-subject"; }
if duplicate :uniqueid "${undefined}x" :seconds 60 { fileinto "dup-uniq"; }
