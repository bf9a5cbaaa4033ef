"""Throwaway real services (a SeaweedFS S3 server, a RabbitMQ vhost) and farm processes, for the
tests and the benchmarks: never imported by the service itself."""
