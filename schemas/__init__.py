"""The wire: Avro contracts, the topic catalogue and the Confluent-framed serde."""
