# fileinto without require is a compile error
fileinto "x";
