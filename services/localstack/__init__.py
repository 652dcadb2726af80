"""The local stack: real Kafka, Apicurio Registry and Redis on free loopback ports.

Nothing here fakes a server. The Java parts come from Maven Central through the committed
``pom.xml``, Redis from Debian's package; downloads are cached outside the repository.
"""
