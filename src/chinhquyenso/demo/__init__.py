"""Deterministic demo data: Lâm Đồng province, its agencies, communes, officials and citizens."""
