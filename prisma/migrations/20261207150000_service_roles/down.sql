-- Reverts 20261207150000_service_roles (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM taskmesh_task_api, taskmesh_audit_log, taskmesh_notifications;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM taskmesh_task_api, taskmesh_audit_log, taskmesh_notifications;
REVOKE USAGE ON SCHEMA public FROM taskmesh_task_api, taskmesh_audit_log, taskmesh_notifications;

-- The roles are dropped unless another database of the server still grants them something
-- (roles are shared by every database of a server).
DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['taskmesh_task_api', 'taskmesh_audit_log', 'taskmesh_notifications'] LOOP
    BEGIN
      EXECUTE format('DROP ROLE IF EXISTS %I', name);
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'role % is still used by another database: kept', name;
    END;
  END LOOP;
END
$$;
