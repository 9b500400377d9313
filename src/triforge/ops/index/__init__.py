"""index ops: each module here declares its aten overloads with @impl; import it below."""
