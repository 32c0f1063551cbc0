"""The AWS edge: identity (boto3's chain and role chains), the three credential calls and
endpoint discovery, botocore errors in plain words, log redaction, and least-privilege
policies. The only part of the library that imports botocore."""
