-- Environments record the version of the template their container was made from (templates
-- can now be captured from environments in new versions); null for those made before.
ALTER TABLE environments ADD COLUMN template_version TEXT;
