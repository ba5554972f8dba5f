from django.contrib.auth.hashers import MD5PasswordHasher


class CountingMD5Hasher(MD5PasswordHasher):
    """The tests' fast hasher, counting how often a password is hashed: answering a taken
    email must cost the same hashing as creating an account."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt)
