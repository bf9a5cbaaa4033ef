#!/bin/sh
# Run once at start (Compose's minio-init, the Kubernetes minio-init Job) with MinIO's root key:
# the bucket, a policy limited to it, and the farm's users holding only that policy. Idempotent.
set -eu
mc alias set root "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "root/$FRAMEFARM_S3_BUCKET"
sed "s/arn:aws:s3:::framefarm/arn:aws:s3:::$FRAMEFARM_S3_BUCKET/" /etc/framefarm/farm-policy.json \
  > /tmp/farm-policy.json
mc admin policy create root framefarm-farm /tmp/farm-policy.json
for pair in "$WORKER_ACCESS_KEY:$WORKER_SECRET_KEY" "$COORDINATOR_ACCESS_KEY:$COORDINATOR_SECRET_KEY"; do
  user=${pair%%:*}
  mc admin user add root "$user" "${pair#*:}"
  mc admin policy attach root framefarm-farm --user "$user" 2>/dev/null || true  # already attached
done
echo "minio-init: bucket $FRAMEFARM_S3_BUCKET, users $WORKER_ACCESS_KEY and $COORDINATOR_ACCESS_KEY"
