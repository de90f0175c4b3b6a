"""Analytics datasets and canonical rows arrive with the import (issue 3); nothing here yet."""
